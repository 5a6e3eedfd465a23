# Roles. Each part's task role grants exactly the AWS calls that part's code makes:
#   all Python parts  secretsmanager:GetSecretValue on their own RDS secret (shared/travel_platform/db.py);
#                     Cognito GetUser (shared/travel_platform/auth/revocation.py) and the public client's
#                     calls (SignUp, InitiateAuth, ...) are authorized by tokens, not IAM.
#   agent-service     cognito-idp:AdminGetUser, AdminDeleteUser on the agents' pool (sign-up),
#                     AdminUserGlobalSignOut (a password change or reset ends every session);
#                     s3 Put/Get/DeleteObject under agents/ and ListBucket (so a missing key is
#                     a 404, not a 403) on the uploads bucket, and the platform key through S3
#                     (agent_service/storage.py; a presigned POST is signed with this role).
#   operator-service  cognito-idp:AdminGetUser, AdminCreateUser, AdminSetUserPassword,
#                     AdminUserGlobalSignOut, and AdminDeleteUser (a pool user linked to no
#                     operator yields to the operator whose address it holds) on the
#                     operators' pool (operator_service/logins.py).
#   jobs              what provision.py calls when everything exists already, and the
#                     service roles' secrets (it sets their passwords on RDS).
# Execution roles (ECS itself) pull the part's own image, write its log group and read the
# secrets ECS puts into its environment. Every role that reads a secret may decrypt it with
# the platform key, through Secrets Manager only.

locals {
  # Who may be each kind of role; ECS and RDS say which account asks (confused deputy).
  trusted_services = {
    ecs_tasks      = { service = "ecs-tasks.amazonaws.com", check_account = true }
    rds_monitoring = { service = "monitoring.rds.amazonaws.com", check_account = true }
    lambda         = { service = "lambda.amazonaws.com", check_account = false }
  }
  # Secrets ECS reads for each part (and the jobs task), by ARN.
  execution_secrets = merge({ for part, s in local.secrets : part => compact(values(s)) },
  { jobs = [aws_db_instance.main.master_user_secret[0].secret_arn] })
  # Each role that reads secrets, and which.
  secret_readers = merge(
    { for part, arns in local.execution_secrets : "${part}-execution" =>
    { role = aws_iam_role.execution[part].id, secrets = arns } },
    { for part, db_role in local.db_role_of_part : "${part}-task" =>
    { role = aws_iam_role.task[part].id, secrets = [aws_secretsmanager_secret.db_role[db_role].arn] } },
    { "jobs-task" = { role = aws_iam_role.jobs.id, secrets = [for s in aws_secretsmanager_secret.db_role : s.arn] } },
  )
  # Who uses the platform key, for what, through which service: every secret reader to
  # decrypt its secrets; agent-service for the documents (S3 encrypts and decrypts them, and
  # a presigned POST is signed with its role).
  key_users = merge(
    { for reader, r in local.secret_readers : reader => { role = r.role, actions = ["kms:Decrypt"], via = "secretsmanager" } },
    { "agent-service-documents" = { role = aws_iam_role.task["agent-service"].id, actions = ["kms:GenerateDataKey", "kms:Decrypt"], via = "s3" } },
  )
  # Every inline policy: its role, its name, its document.
  role_policies = merge(
    { for part in keys(local.execution_secrets) : "${part}-execution" =>
    { role = aws_iam_role.execution[part].id, name = "execution", policy = data.aws_iam_policy_document.execution[part].json } },
    { for reader, r in local.secret_readers : "${reader}-read-secrets" =>
    { role = r.role, name = "read-secrets", policy = data.aws_iam_policy_document.read_secrets[reader].json } },
    { for user, u in local.key_users : "${user}-use-key" =>
    { role = u.role, name = "use-key-through-${u.via}", policy = data.aws_iam_policy_document.use_key[user].json } },
    {
      "agent-service-calls"    = { role = aws_iam_role.task["agent-service"].id, name = "calls", policy = data.aws_iam_policy_document.agent_service.json }
      "operator-service-calls" = { role = aws_iam_role.task["operator-service"].id, name = "calls", policy = data.aws_iam_policy_document.operator_service.json }
      "jobs-calls"             = { role = aws_iam_role.jobs.id, name = "calls", policy = data.aws_iam_policy_document.jobs.json }
      "user-migration"         = { role = aws_iam_role.user_migration.id, name = "user-migration", policy = data.aws_iam_policy_document.user_migration.json }
    },
  )
}

data "aws_iam_policy_document" "assume" {
  for_each = local.trusted_services
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value.service]
    }
    dynamic "condition" {
      for_each = each.value.check_account ? [data.aws_caller_identity.current.account_id] : []
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

# --- roles ----------------------------------------------------------------------------------
resource "aws_iam_role" "execution" {
  for_each           = local.execution_secrets
  name               = "${local.name}-${each.key}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs_tasks"].json
}

resource "aws_iam_role" "task" {
  for_each           = local.db_role_of_part
  name               = "${local.name}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs_tasks"].json
}

resource "aws_iam_role" "jobs" {
  name               = "${local.name}-jobs-task"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs_tasks"].json
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.assume["rds_monitoring"].json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_iam_role" "user_migration" {
  name               = "${local.name}-user-migration"
  assume_role_policy = data.aws_iam_policy_document.assume["lambda"].json
}

# --- what ECS itself needs per part -----------------------------------------------------------
data "aws_iam_policy_document" "execution" {
  for_each = local.execution_secrets
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # not resource-scoped in IAM
  }
  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.part[each.key].arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.part[each.key].arn}:*"]
  }
}

# --- secrets ----------------------------------------------------------------------------------
data "aws_iam_policy_document" "read_secrets" {
  for_each = local.secret_readers
  statement {
    sid       = "ReadSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secrets
  }
}

# --- the platform key, only through the service that stores the data --------------------------
data "aws_iam_policy_document" "use_key" {
  for_each = local.key_users
  statement {
    sid       = "PlatformKeyThrough${title(each.value.via)}"
    actions   = each.value.actions
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["${each.value.via}.${var.aws_region}.amazonaws.com"]
    }
  }
}

# --- the task roles' other calls --------------------------------------------------------------
data "aws_iam_policy_document" "agent_service" {
  statement {
    sid       = "AgentSignUps"
    actions   = ["cognito-idp:AdminGetUser", "cognito-idp:AdminDeleteUser", "cognito-idp:AdminUserGlobalSignOut"]
    resources = [aws_cognito_user_pool.pool["agents"].arn]
  }
  statement {
    sid       = "AgentDocuments"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.uploads.arn}/agents/*"]
  }
  # Without it S3 answers a HEAD or copy of a missing key with 403, not 404 (no s3:prefix
  # condition: a HEAD carries none, so a condition on it would deny).
  statement {
    sid       = "MissingKeyIs404"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.uploads.arn]
  }
}

data "aws_iam_policy_document" "operator_service" {
  statement {
    sid       = "OperatorLogins"
    actions   = ["cognito-idp:AdminGetUser", "cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:AdminDeleteUser"]
    resources = [aws_cognito_user_pool.pool["operators"].arn]
  }
}

# The jobs task: what provision.py calls when the pools, client, group, bucket and secrets
# exist already (it lists, finds, and sets the bucket's settings again).
data "aws_iam_policy_document" "jobs" {
  statement {
    sid       = "FindPools"
    actions   = ["cognito-idp:ListUserPools"]
    resources = ["*"] # not resource-scoped in IAM
  }
  statement {
    sid       = "FindClientsAndGroup"
    actions   = ["cognito-idp:ListUserPoolClients", "cognito-idp:CreateGroup"]
    resources = [for pool in aws_cognito_user_pool.pool : pool.arn]
  }
  statement {
    sid       = "Bucket"
    actions   = ["s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutBucketCORS"]
    resources = [aws_s3_bucket.uploads.arn]
  }
}

# --- the UserMigration trigger ----------------------------------------------------------------
data "aws_iam_policy_document" "user_migration" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.user_migration.arn}:*"]
  }
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # not resource-scoped in IAM
  }
  statement {
    sid       = "DecryptEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    # Only the trigger's own environment (Lambda encrypts it under this context): not the
    # secrets, logs or documents the same key protects.
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:lambda:FunctionArn"
      values   = ["arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:${data.aws_caller_identity.current.account_id}:function:${local.name}-user-migration"]
    }
  }
}

# --- every inline policy on its role -----------------------------------------------------------
resource "aws_iam_role_policy" "policy" {
  for_each = local.role_policies
  name     = each.value.name
  role     = each.value.role
  policy   = each.value.policy
}
