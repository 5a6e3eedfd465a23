# Names shared by every file, and the one table of the platform's parts.
locals {
  name    = "${var.name_prefix}-${var.environment}"
  is_prod = var.environment == "prod"

  tags = {
    Project     = "travel-platform"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # The images: <registry>/<part>:<tag>; `jobs` is the one-shot migrations-and-provisioning image.
  image = { for part in ["agent-service", "operator-service", "booking-service", "gateway-auth", "gateway", "jobs"] :
  part => "${var.image_registry}/${part}:${lookup(var.image_tags, part, var.image_tag)}" }
}
