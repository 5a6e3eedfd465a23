# Secrets Manager: one secret per service database role, under the names the services read
# (AWS_RDS_SECRET_ID; aws/scripts/provision.py's SERVICE_DB_ROLES), holding what provision.py
# writes there; and the Supabase project's keys, which ECS hands to the tasks that need them.
# The passwords are generated here; the jobs task (ecs.tf) gives each role its password on RDS.

locals {
  # (db_roles, role on RDS -> its secret's name: registry.tf.)
  # The Supabase project's keys: secret name suffix -> value.
  supabase_secrets = {
    "anon-key"         = var.supabase_anon_key
    "service-role-key" = var.supabase_service_role_key
    "db-url"           = var.supabase_db_url
  }
}

resource "random_password" "db_role" {
  for_each = local.db_roles
  length   = 32
  special  = false
}

resource "aws_secretsmanager_secret" "db_role" {
  #checkov:skip=CKV2_AWS_57:the password lives in the secret and on RDS; rotating it is a new secret version followed by the jobs task (provision.py sets the role's password from the secret), not a rotation Lambda yet
  for_each                = local.db_roles
  name                    = each.value
  description             = "RDS travel_agent_db login of the ${each.key} role"
  kms_key_id              = aws_kms_key.platform.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "db_role" {
  for_each  = local.db_roles
  secret_id = aws_secretsmanager_secret.db_role[each.key].id
  secret_string = jsonencode({
    engine   = "postgres"
    username = each.key
    password = random_password.db_role[each.key].result
    host     = aws_db_instance.main.address
    port     = aws_db_instance.main.port
    dbname   = aws_db_instance.main.db_name
  })
}

# Keyed by name only: a map of sensitive values cannot be for_each's argument.
resource "aws_secretsmanager_secret" "supabase" {
  #checkov:skip=CKV2_AWS_57:these are the Supabase project's keys; they are rotated in Supabase and set here again with terraform apply
  for_each                = var.supabase_enabled ? toset(["anon-key", "service-role-key", "db-url"]) : toset([])
  name                    = "${local.name}/supabase/${each.key}"
  description             = "Supabase project: ${each.key}"
  kms_key_id              = aws_kms_key.platform.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "supabase" {
  for_each      = aws_secretsmanager_secret.supabase
  secret_id     = each.value.id
  secret_string = local.supabase_secrets[each.key]

  lifecycle {
    precondition {
      condition     = var.supabase_url != null && local.supabase_secrets[each.key] != null
      error_message = "supabase_enabled needs supabase_url, supabase_anon_key, supabase_service_role_key and supabase_db_url (or supabase_enabled = false: Supabase off)."
    }
  }
}
