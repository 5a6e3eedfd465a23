# Roles. Each part's task role grants exactly the AWS calls that part's code makes:
#   all Python parts  secretsmanager:GetSecretValue on their own RDS secret (travel_platform/db.py);
#                     Cognito GetUser (travel_platform/auth/liveness.py) and the public client's
#                     calls (SignUp, InitiateAuth, ...) are authorized by tokens, not IAM.
#   agent-service     cognito-idp:AdminGetUser, AdminDeleteUser on the agents' pool (sign-up);
#                     s3 Put/Get/DeleteObject under agents/ and ListBucket (so a missing key is
#                     a 404, not a 403) on the uploads bucket, and the platform key through S3
#                     (agent_service/storage.py; a presigned POST is signed with this role).
#   operator-service  cognito-idp:AdminGetUser, AdminCreateUser, AdminSetUserPassword on the
#                     operators' pool (operator_service/logins.py).
# Execution roles (ECS itself) pull the part's own image, write its log group and read the
# secrets ECS puts into its environment.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

locals {
  # Secrets ECS reads for each part (and the jobs task), by ARN.
  execution_secrets = merge({ for part, s in local.secrets : part => values(s) },
  { jobs = [aws_db_instance.main.master_user_secret[0].secret_arn] })
  # Using the platform key only through these services.
  kms_via = {
    secretsmanager = "secretsmanager.${var.aws_region}.amazonaws.com"
    s3             = "s3.${var.aws_region}.amazonaws.com"
  }
}

# --- execution roles ------------------------------------------------------------------------
resource "aws_iam_role" "execution" {
  for_each           = local.execution_secrets
  name               = "${local.name}-${each.key}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

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
  statement {
    sid       = "InjectedSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via.secretsmanager]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.execution_secrets
  name     = "execution"
  role     = aws_iam_role.execution[each.key].id
  policy   = data.aws_iam_policy_document.execution[each.key].json
}

# --- task roles of the Python parts ---------------------------------------------------------
resource "aws_iam_role" "task" {
  for_each           = local.db_role_of_part
  name               = "${local.name}-${each.key}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# Its own RDS secret, and nothing else, for every Python part.
data "aws_iam_policy_document" "own_db_secret" {
  for_each = local.db_role_of_part
  statement {
    sid       = "OwnDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.db_role[each.value].arn]
  }
  statement {
    sid       = "DecryptOwnSecret"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via.secretsmanager]
    }
  }
}

resource "aws_iam_role_policy" "own_db_secret" {
  for_each = local.db_role_of_part
  name     = "own-db-secret"
  role     = aws_iam_role.task[each.key].id
  policy   = data.aws_iam_policy_document.own_db_secret[each.key].json
}

data "aws_iam_policy_document" "agent_service" {
  statement {
    sid       = "AgentSignUps"
    actions   = ["cognito-idp:AdminGetUser", "cognito-idp:AdminDeleteUser"]
    resources = [aws_cognito_user_pool.agents.arn]
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
  statement {
    sid       = "DocumentsKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via.s3]
    }
  }
}

resource "aws_iam_role_policy" "agent_service" {
  name   = "cognito-and-documents"
  role   = aws_iam_role.task["agent-service"].id
  policy = data.aws_iam_policy_document.agent_service.json
}

data "aws_iam_policy_document" "operator_service" {
  statement {
    sid       = "OperatorLogins"
    actions   = ["cognito-idp:AdminGetUser", "cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword"]
    resources = [aws_cognito_user_pool.operators.arn]
  }
}

resource "aws_iam_role_policy" "operator_service" {
  name   = "operator-logins"
  role   = aws_iam_role.task["operator-service"].id
  policy = data.aws_iam_policy_document.operator_service.json
}

# --- the jobs task: what provision.py calls when everything exists already ----------------
resource "aws_iam_role" "jobs" {
  name               = "${local.name}-jobs-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "jobs" {
  statement {
    sid       = "FindPools"
    actions   = ["cognito-idp:ListUserPools"]
    resources = ["*"] # not resource-scoped in IAM
  }
  statement {
    sid       = "FindClientsAndGroup"
    actions   = ["cognito-idp:ListUserPoolClients", "cognito-idp:CreateGroup"]
    resources = [aws_cognito_user_pool.agents.arn, aws_cognito_user_pool.operators.arn]
  }
  statement {
    sid       = "Bucket"
    actions   = ["s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutBucketCORS"]
    resources = [aws_s3_bucket.uploads.arn]
  }
  statement {
    sid       = "RoleSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [for s in aws_secretsmanager_secret.db_role : s.arn]
  }
  statement {
    sid       = "DecryptRoleSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.kms_via.secretsmanager]
    }
  }
}

resource "aws_iam_role_policy" "jobs" {
  name   = "provision"
  role   = aws_iam_role.jobs.id
  policy = data.aws_iam_policy_document.jobs.json
}

# --- RDS enhanced monitoring ----------------------------------------------------------------
data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# --- the UserMigration trigger ---------------------------------------------------------------
data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "user_migration" {
  name               = "${local.name}-user-migration"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

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
  }
}

resource "aws_iam_role_policy" "user_migration" {
  name   = "user-migration"
  role   = aws_iam_role.user_migration.id
  policy = data.aws_iam_policy_document.user_migration.json
}
