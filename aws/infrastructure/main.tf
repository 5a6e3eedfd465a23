# Names shared by every file. The platform's parts: registry.tf.
locals {
  name    = "${var.name_prefix}-${var.environment}"
  is_prod = var.environment == "prod"

  tags = {
    Project     = "travel-platform"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # One image per part (ecr.tf; the parts: registry.tf's local.images).
  image = { for part in local.images :
  part => "${aws_ecr_repository.part[part].repository_url}:${lookup(var.image_tags, part, var.image_tag)}" }
}
