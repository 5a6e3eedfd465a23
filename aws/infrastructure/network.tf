# (Rule descriptions: AWS allows letters, digits, spaces and ._-:/()#,@[]+=;{}!$* only.)
# Security groups in the given VPC: the load balancer reaches only the gateway; the gateway
# only the services; booking-service only the two services it composes; RDS only the parts
# holding a role on it. Every part may call HTTPS out (AWS APIs, ECR, Cognito's keys, Supabase).

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Internet-facing load balancer of the gateway"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:port 80 only answers with a redirect to HTTPS (aws_lb_listener.http); nothing is served over plain HTTP
  for_each          = toset(var.alb_ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from clients, answered with a redirect to HTTPS"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_gateway" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the gateway tasks"
  referenced_security_group_id = aws_security_group.part["gateway"].id
  ip_protocol                  = "tcp"
  from_port                    = local.ports["gateway"]
  to_port                      = local.ports["gateway"]
}

# One group per part (ecs.tf's table), and one for the one-shot jobs task.
resource "aws_security_group" "part" {
  #checkov:skip=CKV2_AWS_5:each group is attached to its part's ECS service (aws_ecs_service.part, network_configuration) through for_each, which this check does not follow
  for_each    = local.ports
  name        = "${local.name}-${each.key}"
  description = "Tasks of ${each.key}"
  vpc_id      = var.vpc_id
}

resource "aws_security_group" "jobs" {
  #checkov:skip=CKV2_AWS_5:attached when the jobs task runs (`aws ecs run-task`, output jobs_run_task); no resource here runs it
  name        = "${local.name}-jobs"
  description = "One-shot tasks: migrations and provisioning"
  vpc_id      = var.vpc_id
}

locals {
  # Who may open a connection to whom (caller -> callee), on the callee's port.
  part_calls = {
    "alb-gateway"                      = { from = aws_security_group.alb.id, to = "gateway" }
    "gateway-gateway-auth"             = { from = aws_security_group.part["gateway"].id, to = "gateway-auth" }
    "gateway-agent-service"            = { from = aws_security_group.part["gateway"].id, to = "agent-service" }
    "gateway-operator-service"         = { from = aws_security_group.part["gateway"].id, to = "operator-service" }
    "gateway-booking-service"          = { from = aws_security_group.part["gateway"].id, to = "booking-service" }
    "booking-service-agent-service"    = { from = aws_security_group.part["booking-service"].id, to = "agent-service" }
    "booking-service-operator-service" = { from = aws_security_group.part["booking-service"].id, to = "operator-service" }
  }
  # Parts (and the jobs task) that log in to RDS.
  rds_clients = merge({ for part, role in local.db_role_of_part : part => aws_security_group.part[part].id },
  { jobs = aws_security_group.jobs.id })
}

resource "aws_vpc_security_group_ingress_rule" "part_calls" {
  for_each                     = local.part_calls
  security_group_id            = aws_security_group.part[each.value.to].id
  description                  = "${each.key}: on the callee port"
  referenced_security_group_id = each.value.from
  ip_protocol                  = "tcp"
  from_port                    = local.ports[each.value.to]
  to_port                      = local.ports[each.value.to]
}

resource "aws_vpc_security_group_egress_rule" "part_calls" {
  for_each                     = { for k, v in local.part_calls : k => v if k != "alb-gateway" }
  security_group_id            = each.value.from
  description                  = "${each.key}: to the callee port"
  referenced_security_group_id = aws_security_group.part[each.value.to].id
  ip_protocol                  = "tcp"
  from_port                    = local.ports[each.value.to]
  to_port                      = local.ports[each.value.to]
}

resource "aws_vpc_security_group_egress_rule" "https_out" {
  for_each          = merge({ for part, sg in aws_security_group.part : part => sg.id }, { jobs = aws_security_group.jobs.id })
  security_group_id = each.value
  description       = "HTTPS to AWS APIs, ECR, Cognito and Supabase"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "to_rds" {
  for_each                     = local.rds_clients
  security_group_id            = each.value
  description                  = "PostgreSQL on RDS"
  referenced_security_group_id = aws_security_group.rds.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

# operator-service reads the Supabase project's PostgreSQL (outside the VPC).
resource "aws_vpc_security_group_egress_rule" "operator_to_supabase_db" {
  security_group_id = aws_security_group.part["operator-service"].id
  description       = "PostgreSQL of the Supabase project"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "RDS travel_agent_db"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_clients" {
  for_each                     = local.rds_clients
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from ${each.key}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}
