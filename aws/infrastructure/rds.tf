# RDS PostgreSQL `travel_agent_db`: agents, bookings, the migration state and the operator
# tables moved from Supabase. Each service logs in with its own role (secrets.tf); the master
# user's password is generated and kept by RDS in Secrets Manager, used only by the jobs task.

resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_parameter_group" "main" {
  name        = "${local.name}-postgres${var.rds_engine_version}"
  family      = "postgres${var.rds_engine_version}"
  description = "travel_agent_db: logical replication for the operator tables' move, TLS only"

  # The move of the operator tables (python -m migrate) subscribes RDS to the Supabase
  # project's publication, one subscription per unit plus the table copies: `migrate plan`
  # refuses fewer than len(migrate.units.UNITS) + 2 workers (RDS's default is 4; the same
  # figures as devstack's PostgreSQL). RDS only subscribes today (the way back uses
  # triggers), but the design note has it publish too: logical replication on.
  parameter {
    name         = "rds.logical_replication"
    value        = "1"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "max_logical_replication_workers"
    value        = "8"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "max_worker_processes"
    value        = "16"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "max_sync_workers_per_subscription"
    value        = "4"
    apply_method = "pending-reboot"
  }
  # Every service connects with sslmode=verify-full; refuse anything without TLS.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  # Statements slower than a second, with their duration (not their parameters).
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "main" {
  #checkov:skip=CKV2_AWS_30:log_statement would write role passwords to CloudWatch (provision.py sets them with ALTER ROLE ... PASSWORD); slow statements, connections and disconnections are logged instead
  identifier     = local.name
  engine         = "postgres"
  engine_version = var.rds_engine_version
  instance_class = var.rds_instance_class
  db_name        = "travel_agent_db"

  username                      = var.rds_master_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.platform.arn
  # The services' roles log in with passwords (secrets.tf); IAM authentication stays
  # available for people, with rds-db:connect granted per user.
  iam_database_authentication_enabled = true

  allocated_storage     = var.rds_allocated_storage
  max_allocated_storage = var.rds_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.platform.arn

  multi_az               = local.is_prod
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  backup_retention_period   = var.rds_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = local.is_prod
  skip_final_snapshot       = !local.is_prod
  final_snapshot_identifier = "${local.name}-final"
  delete_automated_backups  = !local.is_prod

  auto_minor_version_upgrade      = true
  allow_major_version_upgrade     = false
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.platform.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
}
