# Terraform and provider versions, pinned: a plan made on one machine is the plan made on another.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.82.2"
    }
    # The service roles' database passwords (secrets.tf).
    random = {
      source  = "hashicorp/random"
      version = "3.6.3"
    }
  }

  # State holds the generated passwords and the Supabase keys: keep it in an encrypted,
  # versioned bucket of the deploying account (values at `terraform init -backend-config=...`).
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
