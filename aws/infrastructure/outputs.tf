# What a deploy needs after `terraform apply`: where the platform answers, the ids the
# services were configured with, and what `aws ecs run-task` needs for the jobs task.

output "url" {
  description = "The load balancer's DNS name: point the dashboard's host name (the certificate's) at it."
  value       = aws_lb.gateway.dns_name
}

output "image_repositories" {
  description = "Where to push each part's image (docker push <url>:<tag>)."
  value       = { for part, repo in aws_ecr_repository.part : part => repo.repository_url }
}

output "agents_user_pool_id" {
  value = aws_cognito_user_pool.pool["agents"].id
}

output "agents_client_id" {
  value = aws_cognito_user_pool_client.client["agents"].id
}

output "operators_user_pool_id" {
  value = aws_cognito_user_pool.pool["operators"].id
}

output "operators_client_id" {
  value = aws_cognito_user_pool_client.client["operators"].id
}

output "uploads_bucket" {
  value = aws_s3_bucket.uploads.bucket
}

output "db_role_secret_arns" {
  description = "Each service role's RDS secret, by role."
  value       = { for role, secret in aws_secretsmanager_secret.db_role : role => secret.arn }
}

output "supabase_secret_arns" {
  value = { for name, secret in aws_secretsmanager_secret.supabase : name => secret.arn }
}

output "rds_endpoint" {
  value = aws_db_instance.main.endpoint
}

output "rds_master_secret_arn" {
  description = "RDS-managed secret of the master user (the jobs task reads it)."
  value       = aws_db_instance.main.master_user_secret[0].secret_arn
}

output "ecs_cluster" {
  value = aws_ecs_cluster.main.name
}

output "jobs_run_task" {
  description = "What `aws ecs run-task` needs to run migrations and provisioning."
  value = {
    cluster         = aws_ecs_cluster.main.name
    task_definition = aws_ecs_task_definition.jobs.arn
    subnets         = var.private_subnet_ids
    security_group  = aws_security_group.jobs.id
  }
}
