# Both user pools and their app clients, exactly as aws/scripts/provision.py creates them
# (its AGENTS_POOL, OPERATORS_POOL, AGENTS_CLIENT, OPERATORS_CLIENT; tests/unit/test_terraform.py
# holds the two together), and the operators' pool's UserMigration trigger.

# Each pool and app client is a row of these tables, in the words of provision.py's requests.
locals {
  # Cognito's own length limits of the standard attribute, said explicitly (else every plan
  # finds a difference with what AWS reports).
  email_attribute = {
    name                         = "email"
    attribute_data_type          = "String"
    required                     = true
    mutable                      = true
    string_attribute_constraints = { min_length = "0", max_length = "2048" }
  }

  user_pools = {
    agents = {
      name            = "travel-agents-pool"
      password_policy = { minimum_length = 10, require_uppercase = true, require_lowercase = true, require_numbers = true, require_symbols = false }
      schema          = [local.email_attribute]
      user_migration  = false
      # Agents sign up themselves (agent-service), and change no attribute through us.
      admin_create_user_config       = []
      user_attribute_update_settings = []
    }
    # Operators bring their Supabase passwords along: the pool accepts what Supabase Auth
    # did. Their Supabase user id is set by the trigger and the import, never by the client.
    operators = {
      name            = "tour-operators-pool"
      password_policy = { minimum_length = 6, require_uppercase = false, require_lowercase = false, require_numbers = false, require_symbols = false }
      schema = [local.email_attribute, {
        name                         = "operator_id"
        attribute_data_type          = "String"
        mutable                      = false
        string_attribute_constraints = { min_length = "36", max_length = "36" }
      }]
      user_migration = var.operators_user_migration
      # Nobody signs up: users come only from the trigger, the login and the import, each
      # for an operator Supabase Auth vouches for; an e-mail changes only once verified.
      admin_create_user_config       = [{ allow_admin_create_user_only = true }]
      user_attribute_update_settings = [{ attributes_require_verification_before_update = ["email"] }]
    }
  }

  # Public clients (no secret): the password and refresh flows, one-hour tokens. The
  # operators' console may read the operator id but never write it.
  app_clients = {
    agents    = { name = "travel-agent-dashboard", read_attributes = null, write_attributes = null }
    operators = { name = "tour-operator-console", read_attributes = ["email", "email_verified", "custom:operator_id"], write_attributes = ["email"] }
  }
}

resource "aws_cognito_user_pool" "pool" {
  for_each                 = local.user_pools
  name                     = each.value.name
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = local.is_prod ? "ACTIVE" : "INACTIVE"

  password_policy {
    minimum_length    = each.value.password_policy.minimum_length
    require_uppercase = each.value.password_policy.require_uppercase
    require_lowercase = each.value.password_policy.require_lowercase
    require_numbers   = each.value.password_policy.require_numbers
    require_symbols   = each.value.password_policy.require_symbols
  }

  dynamic "schema" {
    for_each = each.value.schema
    content {
      name                = schema.value.name
      attribute_data_type = schema.value.attribute_data_type
      required            = try(schema.value.required, null)
      mutable             = schema.value.mutable
      string_attribute_constraints {
        min_length = schema.value.string_attribute_constraints.min_length
        max_length = schema.value.string_attribute_constraints.max_length
      }
    }
  }

  dynamic "admin_create_user_config" {
    for_each = each.value.admin_create_user_config
    content {
      allow_admin_create_user_only = admin_create_user_config.value.allow_admin_create_user_only
    }
  }

  dynamic "user_attribute_update_settings" {
    for_each = each.value.user_attribute_update_settings
    content {
      attributes_require_verification_before_update = user_attribute_update_settings.value.attributes_require_verification_before_update
    }
  }

  dynamic "lambda_config" {
    for_each = each.value.user_migration ? [aws_lambda_function.user_migration.arn] : []
    content {
      user_migration = lambda_config.value
    }
  }
}

resource "aws_cognito_user_pool_client" "client" {
  for_each        = local.app_clients
  name            = each.value.name
  user_pool_id    = aws_cognito_user_pool.pool[each.key].id
  generate_secret = false

  explicit_auth_flows           = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  access_token_validity         = 60
  id_token_validity             = 60
  refresh_token_validity        = 30
  prevent_user_existence_errors = "ENABLED"
  read_attributes               = each.value.read_attributes
  write_attributes              = each.value.write_attributes

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

# Administrators approve agents (the gateway's admin routes check this group).
resource "aws_cognito_user_group" "admins" {
  name         = "admins"
  user_pool_id = aws_cognito_user_pool.pool["agents"].id
}

# --- the UserMigration trigger: aws/lambdas/user_migration.py (`make lambda-zip`) ---------
locals {
  user_migration_zip = var.user_migration_zip != "" ? var.user_migration_zip : "${path.module}/../../build/lambdas/user_migration.zip"
}

resource "aws_cloudwatch_log_group" "user_migration" {
  name              = "/aws/lambda/${local.name}-user-migration"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}

resource "aws_lambda_function" "user_migration" {
  #checkov:skip=CKV_AWS_116:Cognito calls the trigger synchronously during a sign-in; there is no asynchronous event to send to a dead-letter queue
  #checkov:skip=CKV_AWS_117:the trigger calls only Supabase Auth over the internet; it reaches nothing in the VPC
  #checkov:skip=CKV_AWS_272:the package is one standard-library module built by `make lambda-zip` from the reviewed repo; no signing profile exists yet
  function_name                  = "${local.name}-user-migration"
  description                    = "tour-operators-pool UserMigration: admits an operator with their Supabase e-mail and password"
  filename                       = local.user_migration_zip
  source_code_hash               = filebase64sha256(local.user_migration_zip)
  handler                        = "user_migration.handler"
  runtime                        = "python3.12"
  role                           = aws_iam_role.user_migration.arn
  timeout                        = 5 # Cognito waits 5 s for a trigger in all
  memory_size                    = 128
  reserved_concurrent_executions = var.user_migration_concurrency
  kms_key_arn                    = aws_kms_key.platform.arn

  environment {
    # With Supabase off (supabase_enabled false) there is nobody left to admit from Supabase
    # Auth: empty settings, so the trigger admits no one (every operator was moved or
    # imported before `finalize operators`, which detaches it anyway).
    variables = {
      SUPABASE_URL              = var.supabase_enabled ? var.supabase_url : ""
      SUPABASE_ANON_KEY         = var.supabase_enabled ? var.supabase_anon_key : ""
      SUPABASE_SERVICE_ROLE_KEY = var.supabase_enabled ? var.supabase_service_role_key : ""
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.user_migration]
}

resource "aws_lambda_permission" "cognito_user_migration" {
  statement_id  = "CognitoUserMigration"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.user_migration.function_name
  principal     = "cognito-idp.amazonaws.com"
  source_arn    = aws_cognito_user_pool.pool["operators"].arn
}
