# What differs between deployments. Sensitive values (the Supabase keys) come from TF_VAR_*
# in the deploying shell or CI, never from a file in the repo.

variable "environment" {
  description = "Deployment name: prod gets Multi-AZ RDS and deletion protection."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,7}$", var.environment))
    error_message = "environment: 2 to 8 lower-case letters, digits and dashes (names AWS limits to 32 characters carry it), e.g. prod or staging."
  }
}

variable "aws_region" {
  description = "Region of every resource (the services' AWS_REGION)."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of resource names that are not fixed by the code."
  type        = string
  default     = "travel-platform"
}

# --- network: an existing VPC ---------------------------------------------------------
variable "vpc_id" {
  description = "The VPC the platform runs in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing load balancer (two availability zones at least)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks and RDS, with a NAT gateway (or VPC endpoints) to AWS APIs, ECR and Supabase."
  type        = list(string)
}

variable "alb_ingress_cidrs" {
  description = "Client networks that may reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate of the dashboard's and API's host name (the load balancer's HTTPS listener)."
  type        = string
}

# --- images -----------------------------------------------------------------------------
variable "image_tag" {
  description = "Tag of every image not named in image_tags (the commit the images were built from)."
  type        = string
}

variable "image_tags" {
  description = "Per-part tags (a part of the registry of services, gateway or jobs: registry.tf's local.images), so one service deploys on its own."
  type        = map(string)
  default     = {}
}

variable "rds_ca_bundle_path" {
  description = "Path, inside the images, of the RDS CA bundle (global-bundle.pem) that sslmode=verify-full checks the server against."
  type        = string
  default     = "/etc/ssl/certs/rds-global-bundle.pem"
}

# --- sizes ------------------------------------------------------------------------------
variable "task_sizes" {
  description = "Fargate cpu units and memory (MiB) per part, over the defaults (the registry's `aws` of each service and gateway-auth; gateway and jobs 256/512: registry.tf)."
  type        = map(object({ cpu = number, memory = number }))
  default     = {}
}

variable "desired_counts" {
  description = "Running tasks per part, over the defaults (the registry's; the gateway 2); two or more keeps a service up while one task is replaced."
  type        = map(number)
  default     = {}
}

variable "rds_instance_class" {
  description = "RDS instance class of travel_agent_db."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_engine_version" {
  description = "PostgreSQL major version (the parameter group's family follows it)."
  type        = string
  default     = "15"
}

variable "rds_allocated_storage" {
  description = "Initial storage (GiB)."
  type        = number
  default     = 50
}

variable "rds_max_allocated_storage" {
  description = "Storage autoscaling ceiling (GiB)."
  type        = number
  default     = 500
}

variable "rds_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 14
}

variable "rds_master_username" {
  description = "RDS master user; its password is generated and kept by RDS in Secrets Manager."
  type        = string
  default     = "travel_admin"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the parts' logs."
  type        = number
  default     = 365
}

# --- browsers, Supabase -----------------------------------------------------------------
variable "cors_allowed_origins" {
  description = "Browser origins (https://host[:port]) that may call the API and upload to the bucket: the gateway's CORS_ALLOWED_ORIGINS and the bucket's CORS rule."
  type        = list(string)
  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for o in var.cors_allowed_origins : can(regex("^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", o))])
    error_message = "cors_allowed_origins: one or more https:// origins, no path or trailing slash."
  }
}

variable "uploads_bucket_name" {
  description = "The agents' documents bucket (agent-service's AWS_S3_BUCKET); names are global, so a second deployment in the same partition needs another."
  type        = string
  default     = "travel-agent-uploads"
}

variable "supabase_enabled" {
  description = "false is \"Supabase off\" (docs/deployment.md), once every unit of the move and the operators' logins are finalized: no Supabase secret, and no Supabase variable in any task definition. The parts refuse to start that way before then."
  type        = bool
  default     = true
}

# The four below are needed (all of them) while supabase_enabled; unused, and may be left
# unset, with Supabase off.
variable "supabase_url" {
  description = "The Supabase project's URL, https://<ref>.supabase.co."
  type        = string
  default     = null
}

variable "supabase_anon_key" {
  description = "The project's anon key (TF_VAR_supabase_anon_key)."
  type        = string
  sensitive   = true
  default     = null
}

variable "supabase_service_role_key" {
  description = "The project's service role key (TF_VAR_supabase_service_role_key): operator-service and the UserMigration trigger."
  type        = string
  sensitive   = true
  default     = null
}

variable "supabase_db_url" {
  description = "operator-service's login to the project's database, with sslmode=verify-full (TF_VAR_supabase_db_url)."
  type        = string
  sensitive   = true
  default     = null
}

variable "user_migration_concurrency" {
  description = "Concurrent runs reserved for the UserMigration trigger (sign-ins of operators not yet in the pool)."
  type        = number
  default     = 20
}

variable "user_migration_zip" {
  description = "The UserMigration trigger's package (`make lambda-zip`); empty: build/lambdas/user_migration.zip of this checkout."
  type        = string
  default     = ""
}

variable "operators_user_migration" {
  description = "Whether the operators' pool runs the UserMigration trigger: true while operators' logins move; false once `python -m migrate finalize operators` has detached it (else an apply attaches it again)."
  type        = bool
  default     = true
}
