# An example production deployment: copy it to <name>.tfvars, fill in your account's ids.
# `make terraform-check` runs checkov with this file, so production's settings (Multi-AZ,
# deletion protection) are the ones it checks. The Supabase keys are never written here:
# export TF_VAR_supabase_anon_key, TF_VAR_supabase_service_role_key, TF_VAR_supabase_db_url.
environment          = "prod"
aws_region           = "us-east-1"
vpc_id               = "vpc-0123456789abcdef0"
public_subnet_ids    = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
private_subnet_ids   = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
certificate_arn      = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
cors_allowed_origins = ["https://dashboard.example.com"]
supabase_url         = "https://example-project-ref.supabase.co"
