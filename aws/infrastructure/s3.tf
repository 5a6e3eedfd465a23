# The agents' documents bucket, as aws/scripts/provision.py sets it up (public access blocked,
# one CORS rule for the dashboard's origins), plus what production adds: encryption with the
# platform key, versioning, TLS only, access logs, old versions expiring. And a bucket for the
# access logs of the load balancer and of the uploads bucket.

resource "aws_s3_bucket" "uploads" {
  #checkov:skip=CKV_AWS_144:the documents are kept in one region with versioning and backups of RDS; cross-region replication is a disaster-recovery choice not made yet
  #checkov:skip=CKV2_AWS_62:nothing consumes upload events: agent-service checks each upload when the agent confirms it
  bucket = var.uploads_bucket_name
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log bucket; logging it would log its own log deliveries
  #checkov:skip=CKV_AWS_144:access logs are kept in one region; they are not data to recover
  #checkov:skip=CKV_AWS_145:load balancer access logs can be delivered only to SSE-S3 buckets, not SSE-KMS
  #checkov:skip=CKV2_AWS_62:nothing consumes log-delivery events
  bucket_prefix = "${local.name}-logs-"
}

locals {
  buckets = { uploads = aws_s3_bucket.uploads, logs = aws_s3_bucket.logs }
}

# Both buckets: no public access, versioned, TLS only.
resource "aws_s3_bucket_public_access_block" "bucket" {
  for_each                = local.buckets
  bucket                  = each.value.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "bucket" {
  for_each = local.buckets
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets
  # The log bucket also lets the log deliveries write.
  source_policy_documents = each.key == "logs" ? [data.aws_iam_policy_document.log_delivery.json] : []
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "bucket" {
  for_each   = local.buckets
  bucket     = each.value.id
  policy     = data.aws_iam_policy_document.bucket[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.bucket]
}

# --- the uploads bucket ------------------------------------------------------------------------
resource "aws_s3_bucket_cors_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  # Browsers on the dashboard's origins upload (presigned POST) and download (presigned GET).
  cors_rule {
    allowed_origins = var.cors_allowed_origins
    allowed_methods = ["POST", "GET"]
    allowed_headers = ["*"]
    max_age_seconds = 3600
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.platform.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  rule {
    id     = "old-versions-and-abandoned-uploads"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  # `python -m migrate archive` puts the final dump of the Supabase project here: kept 30
  # days (the design note), then deleted (migrate/archive.py keeps the same rule).
  rule {
    id     = "migration-archive-retention"
    status = "Enabled"
    filter {
      prefix = "migration-archive/"
    }
    expiration {
      days = 30
    }
  }
}

resource "aws_s3_bucket_logging" "uploads" {
  bucket        = aws_s3_bucket.uploads.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${var.uploads_bucket_name}/"
}

# --- the log bucket ----------------------------------------------------------------------------
resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# The load balancers' log-delivery account of the region (regions opened after August 2022
# deliver as the service logdelivery.elasticloadbalancing.amazonaws.com instead).
data "aws_elb_service_account" "current" {}

data "aws_iam_policy_document" "log_delivery" {
  statement {
    sid       = "LoadBalancerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}
