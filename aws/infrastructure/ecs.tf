# ECS on Fargate: one service and task definition per image, each part reaching the others
# by name through Service Connect (http://agent-service:8101, as in docker-compose.yml).
# The load balancer (alb.tf) sends every request to the gateway, which routes it.
#
# The tables below are each part's port, its environment (variable names are exactly the
# fields of its Settings class, tests/unit/test_terraform.py checks them) and the secrets ECS
# puts into that environment.

locals {
  # travel_platform.web.HEALTH_PATH, and the gateway's own `location = /health`.
  health_path = "/health"

  # What every Python part reads (travel_platform.settings: BaseServiceSettings, RdsSettings).
  python_environment = {
    ENVIRONMENT                    = "production"
    AWS_REGION                     = var.aws_region
    AWS_COGNITO_USER_POOL_ID       = aws_cognito_user_pool.pool["agents"].id
    AWS_COGNITO_CLIENT_ID          = aws_cognito_user_pool_client.client["agents"].id
    AWS_COGNITO_OPERATOR_POOL_ID   = aws_cognito_user_pool.pool["operators"].id
    AWS_COGNITO_OPERATOR_CLIENT_ID = aws_cognito_user_pool_client.client["operators"].id
    SUPABASE_URL                   = local.supabase_url
    AWS_RDS_HOST                   = aws_db_instance.main.address
    AWS_RDS_PORT                   = tostring(aws_db_instance.main.port)
    AWS_RDS_DATABASE               = aws_db_instance.main.db_name
    AWS_RDS_SSLMODE                = "verify-full"
    AWS_RDS_SSLROOTCERT            = var.rds_ca_bundle_path
  }
  # The service role key too: while operators' logins move, every part asks Supabase Auth's
  # admin API whether the account behind an operators'-pool token is banned or deleted.
  python_secrets = {
    SUPABASE_ANON_KEY         = try(aws_secretsmanager_secret.supabase["anon-key"].arn, null)
    SUPABASE_SERVICE_ROLE_KEY = try(aws_secretsmanager_secret.supabase["service-role-key"].arn, null)
  }
  # With Supabase off (var.supabase_enabled false) there are no Supabase secrets and no
  # SUPABASE_URL: each Supabase variable above and below is null then, and a null variable
  # is left out of the task definitions (and of what the tasks may read), so no part is
  # given any Supabase setting (docs/deployment.md, "Supabase off").
  supabase_url = var.supabase_enabled ? var.supabase_url : null

  # What a part reads beyond python_environment, its port, its RDS secret and the URLs of the
  # parts it calls (registry.tf), where it has more: only these two, by name.
  part_specific = {
    "agent-service"    = { environment = { AWS_S3_BUCKET = aws_s3_bucket.uploads.bucket, CLIENT_ADDRESS_PROXIES = local.client_address_proxies }, secrets = {} }
    "operator-service" = { environment = { CLIENT_ADDRESS_PROXIES = local.client_address_proxies }, secrets = { SUPABASE_DB_URL = try(aws_secretsmanager_secret.supabase["db-url"].arn, null) } }
  }
  # The Python parts, every part of the registry: what they read beyond python_environment.
  python_parts = { for part in local.registry : part.name => {
    environment = merge(local.service_urls[part.name], try(local.part_specific[part.name].environment, {}))
    secrets     = try(local.part_specific[part.name].secrets, {})
  } }
  # Whose X-Forwarded-For the services believe (shared/travel_platform/client_address.py): the
  # Service Connect proxy in their own task, and the gateway, whose tasks are in the VPC.
  client_address_proxies = join(",", ["127.0.0.1/32", data.aws_vpc.main.cidr_block])

  # The gateway image (`python -m gateway_config.serve`): the CORS allow-list, the
  # dashboard's /config.json (Supabase URL, anon key), and where nginx finds the parts. With
  # no resolver (GATEWAY_RESOLVER empty) each part's name is looked up once, at start, as
  # the system does: Service Connect writes the names into the task's /etc/hosts, pointing
  # at its local proxy, which spreads requests over the part's tasks and follows them as
  # they come and go (nginx's own resolver asks DNS only, where those names are not). Its
  # files go under /tmp, the only writable path; its logs to the task's output, through the
  # image's /var/log/gateway (links to stdout and stderr), so CloudWatch gets both.
  gateway_environment = {
    ENVIRONMENT          = "production"
    CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
    SUPABASE_URL         = local.supabase_url
    # The dashboard's uploads go to the bucket: its Content-Security-Policy names it.
    AWS_S3_BUCKET     = aws_s3_bucket.uploads.bucket
    AWS_REGION        = var.aws_region
    GATEWAY_PORT      = tostring(local.ports["gateway"])
    GATEWAY_RESOLVER  = ""
    GATEWAY_STATE_DIR = "/tmp/gateway"
    GATEWAY_LOG_DIR   = "/var/log/gateway"
    # The load balancer connects from addresses of its subnets and sends the client's in
    # X-Forwarded-For: the gateway takes it from there on those connections only, so each
    # client has its own rate-limit buckets (and HSTS goes on what came in over HTTPS).
    GATEWAY_TRUSTED_PROXIES = join(",", [for subnet in data.aws_subnet.public : subnet.cidr_block])
  }
  gateway_secrets = {
    SUPABASE_ANON_KEY = try(aws_secretsmanager_secret.supabase["anon-key"].arn, null)
  }

  # Each part's whole environment and secrets: a Python part's shared ones, its port and its
  # own RDS secret (if it needs RDS), then its own.
  environment = merge({ for part, p in local.python_parts : part => merge(local.python_environment, { BIND = "0.0.0.0:${local.ports[part]}" }, try({ AWS_RDS_SECRET_ID = aws_secretsmanager_secret.db_role[local.db_role_of_part[part]].name }, {}), p.environment) },
  { gateway = local.gateway_environment })
  secrets = merge({ for part, p in local.python_parts : part => merge(local.python_secrets, p.secrets) },
  { gateway = local.gateway_secrets })
}

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  service_connect_defaults {
    namespace = aws_service_discovery_http_namespace.main.arn
  }
}

resource "aws_service_discovery_http_namespace" "main" {
  name        = local.name
  description = "Service Connect names of the platform's parts"
}

resource "aws_cloudwatch_log_group" "part" {
  for_each          = merge(local.ports, { jobs = 0 })
  name              = "/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.platform.arn
}

resource "aws_ecs_task_definition" "part" {
  for_each                 = local.ports
  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.task_sizes[each.key].cpu
  memory                   = local.task_sizes[each.key].memory
  execution_role_arn       = aws_iam_role.execution[each.key].arn
  # The gateway calls no AWS API: no task role.
  task_role_arn = try(aws_iam_role.task[each.key].arn, null)

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The only writable path of a container (gunicorn's worker files, nginx's temp files).
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = each.key
    image                  = local.image[each.key]
    essential              = true
    readonlyRootFilesystem = true
    portMappings = [{
      name          = each.key
      containerPort = local.ports[each.key]
      protocol      = "tcp"
      appProtocol   = "http"
    }]
    environment = [for k, v in local.environment[each.key] : { name = k, value = v } if v != null]
    secrets     = [for k, arn in local.secrets[each.key] : { name = k, valueFrom = arn } if arn != null]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    # Every image has python (the gateway's renders nginx's config with it).
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${local.ports[each.key]}${local.health_path}', timeout=3)"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.part[each.key].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

resource "aws_ecs_service" "part" {
  for_each        = local.ports
  name            = each.key
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.part[each.key].arn
  desired_count   = local.desired_counts[each.key]
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  # The gateway's tasks get a minute to pass the load balancer's check after starting.
  health_check_grace_period_seconds = each.key == "gateway" ? 60 : null

  # A new task is healthy before an old one stops; a deployment that never gets healthy
  # is rolled back.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.part[each.key].id]
    assign_public_ip = false
  }

  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.main.arn
    # Every part but the gateway is called by name; the gateway only calls.
    dynamic "service" {
      for_each = each.key == "gateway" ? [] : [each.key]
      content {
        port_name      = each.key
        discovery_name = each.key
        client_alias {
          dns_name = each.key
          port     = local.ports[each.key]
        }
      }
    }
  }

  dynamic "load_balancer" {
    for_each = each.key == "gateway" ? [aws_lb_target_group.gateway.arn] : []
    content {
      target_group_arn = load_balancer.value
      container_name   = each.key
      container_port   = local.ports[each.key]
    }
  }

  depends_on = [aws_lb_listener.https]
}

# --- the one-shot jobs task: `aws ecs run-task` after every apply (README) ----------------
# Applies aws/migrations to travel_agent_db as the master user, then runs
# aws/scripts/provision.py, which finds the pools, client, bucket and secrets made here and
# gives each service role on RDS the password its secret holds. libpq reads PG* variables,
# so the master password never appears in a command line or a URL.
resource "aws_ecs_task_definition" "jobs" {
  family                   = "${local.name}-jobs"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.task_sizes["jobs"].cpu
  memory                   = local.task_sizes["jobs"].memory
  execution_role_arn       = aws_iam_role.execution["jobs"].arn
  task_role_arn            = aws_iam_role.jobs.arn

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = "jobs"
    image                  = local.image["jobs"]
    essential              = true
    readonlyRootFilesystem = true
    entryPoint             = ["sh", "-c"]
    command = [join(" && ", [
      "python -m travel_platform.migrations --database-url \"dbname=$PGDATABASE\" --dir aws/migrations",
      "python aws/scripts/provision.py --rds-admin-url \"dbname=$PGDATABASE\" --rds-host \"$PGHOST\" --rds-port \"$PGPORT\"",
    ])]
    environment = [for k, v in {
      AWS_REGION           = var.aws_region
      ENVIRONMENT          = "production"
      CORS_ALLOWED_ORIGINS = join(",", var.cors_allowed_origins)
      PGHOST               = aws_db_instance.main.address
      PGPORT               = tostring(aws_db_instance.main.port)
      PGDATABASE           = aws_db_instance.main.db_name
      PGUSER               = var.rds_master_username
      PGSSLMODE            = "verify-full"
      PGSSLROOTCERT        = var.rds_ca_bundle_path
    } : { name = k, value = v }]
    secrets = [{
      name      = "PGPASSWORD"
      valueFrom = "${aws_db_instance.main.master_user_secret[0].secret_arn}:password::"
    }]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.part["jobs"].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "jobs"
      }
    }
  }])
}
