# Security groups in the given VPC: the load balancer reaches only the gateway; the gateway
# only gateway-auth and the services; a service only the ones it calls (the registry's
# `calls`, registry.tf); RDS admits only the parts holding a role on it and the jobs task;
# the Supabase database's port is open to the parts that need it. Every part may call HTTPS out
# (AWS APIs, ECR, Cognito's keys, Supabase). One table of connections makes both rules of
# each: the caller's egress and the callee's ingress, on the callee's port.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Internet-facing load balancer of the gateway"
  vpc_id      = var.vpc_id
}

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

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "RDS travel_agent_db"
  vpc_id      = var.vpc_id
}

locals {
  groups = merge({ for part, group in aws_security_group.part : part => group.id },
  { alb = aws_security_group.alb.id, jobs = aws_security_group.jobs.id, rds = aws_security_group.rds.id })

  # caller -> callee, on the callee's port: an egress rule on the caller, an ingress rule on
  # the callee.
  connections = concat(
    [{ from = "alb", to = "gateway", port = local.ports["gateway"] }],
    [for part in local.registry : { from = "gateway", to = part.name, port = part.port }],
    [for call in local.calls : { from = call.from, to = call.to, port = local.ports[call.to] }],
    [for client in concat(keys(local.db_role_of_part), ["jobs"]) : { from = client, to = "rds", port = 5432 }],
  )

  # Every rule, by its description (AWS allows letters, digits, spaces and
  # ._-:/()#,@[]+=;{}!$* there).
  rules = merge(
    { for c in local.connections : "${c.from} to ${c.to}" =>
    { type = "egress", group = c.from, peer = c.to, cidrs = null, port = c.port } },
    { for c in local.connections : "${c.to} from ${c.from}" =>
    { type = "ingress", group = c.to, peer = c.from, cidrs = null, port = c.port } },
    # Clients reach the load balancer over HTTPS only: no plain-HTTP listener at all.
    { "alb from clients over HTTPS" = { type = "ingress", group = "alb", peer = null, cidrs = var.alb_ingress_cidrs, port = 443 } },
    { for group in concat(keys(local.ports), ["jobs"]) : "${group} to HTTPS (AWS APIs, ECR, Cognito, Supabase)" =>
    { type = "egress", group = group, peer = null, cidrs = ["0.0.0.0/0"], port = 443 } },
    { for part in local.registry : "${part.name} to the PostgreSQL of the Supabase project" =>
    { type = "egress", group = part.name, peer = null, cidrs = ["0.0.0.0/0"], port = 5432 } if var.supabase_enabled && contains(part.needs, "supabase-db") },
  )
}

resource "aws_security_group_rule" "rule" {
  for_each                 = local.rules
  type                     = each.value.type
  security_group_id        = local.groups[each.value.group]
  description              = each.key
  source_security_group_id = try(local.groups[each.value.peer], null)
  cidr_blocks              = each.value.cidrs
  protocol                 = "tcp"
  from_port                = each.value.port
  to_port                  = each.value.port
}

# The VPC's address range: the services believe X-Forwarded-For only from inside it (ecs.tf).
data "aws_vpc" "main" {
  id = var.vpc_id
}
