# Names shared by every file, and the one table of the platform's parts.
locals {
  name    = "${var.name_prefix}-${var.environment}"
  is_prod = var.environment == "prod"

  tags = {
    Project     = "travel-platform"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # One image per part (ecr.tf); `jobs` is the one-shot migrations-and-provisioning image.
  images = ["agent-service", "operator-service", "booking-service", "gateway-auth", "gateway", "jobs"]
  image = { for part in local.images :
  part => "${aws_ecr_repository.part[part].repository_url}:${lookup(var.image_tags, part, var.image_tag)}" }
}
