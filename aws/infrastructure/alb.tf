# The load balancer sends everything to the gateway, never to a service: token checks per
# route family (gateway-auth), rate limits, CORS, request ids, the one JSON error shape and
# the dashboard all live in nginx, and a service reached past it would skip them. So one
# target group, the gateway's tasks; the services have no public address at all. HTTPS
# only: no plain-HTTP listener (and its port closed), so no request ever travels in clear.

resource "aws_lb" "gateway" {
  #checkov:skip=CKV2_AWS_28:rate limits per token and address, request size and header limits are enforced by the gateway itself; a WAF web ACL can be attached to this load balancer without changing anything else
  name                       = local.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = true
  idle_timeout               = 60

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.bucket]
}

resource "aws_lb_target_group" "gateway" {
  name                 = "${local.name}-gateway"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  protocol             = "HTTP"
  port                 = local.ports["gateway"]
  deregistration_delay = 30

  health_check {
    path                = local.health_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.gateway.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.gateway.arn
  }
}

# The load balancer's subnets, for their address ranges: the gateway trusts X-Forwarded-For
# only on connections from there (GATEWAY_TRUSTED_PROXIES, ecs.tf).
data "aws_subnet" "public" {
  for_each = toset(var.public_subnet_ids)
  id       = each.value
}
