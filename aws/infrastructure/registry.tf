# The platform's services and gateway-auth, from the one registry of services
# (shared/travel_platform/services.json; shared/travel_platform/registry.py says what each field means).
# Every table here that lists the parts is made from it, so a new service is a new row
# there and nothing here. Only these locals read the file: tests/unit/test_registry.py
# evaluates this file alone (terraform console) against a copy of the registry with a row
# added.

locals {
  registry = jsondecode(file("${path.module}/../../shared/travel_platform/services.json")).parts

  # Each part's port (devstack's at offset 0, the container's and Service Connect's); the
  # gateway's is its own (gateway_config.serve's default).
  ports = merge({ for part in local.registry : part.name => part.port }, { gateway = 8080 })

  # One image repository per part, the gateway's, and `jobs`: the one-shot migrations and
  # provisioning image (the Dockerfile's `local` stage).
  images = concat([for part in local.registry : part.name], ["gateway", "jobs"])

  # role on RDS -> its secret's name, for each part that needs RDS (provision.py's
  # SERVICE_DB_ROLES: the name with underscores, travel-agent-db/<name>).
  db_roles        = { for part in local.registry : replace(part.name, "-", "_") => "travel-agent-db/${part.name}" if contains(part.needs, "rds") }
  db_role_of_part = { for part in local.registry : part.name => replace(part.name, "-", "_") if contains(part.needs, "rds") }

  # Who calls whom over HTTP, on the callee's port (network.tf), and the callee's URL in
  # the caller's environment: <CALLEE>_URL = http://<callee>:<port> (Service Connect).
  calls        = flatten([for part in local.registry : [for callee in part.calls : { from = part.name, to = callee }]])
  service_urls = { for part in local.registry : part.name => { for callee in part.calls : "${upper(replace(callee, "-", "_"))}_URL" => "http://${callee}:${local.ports[callee]}" } }

  # Fargate sizes and task counts: the registry's, the gateway's and the jobs task's, then
  # whatever var.task_sizes and var.desired_counts override.
  task_sizes = merge(
    { for part in local.registry : part.name => { cpu = part.aws.cpu, memory = part.aws.memory } },
    { gateway = { cpu = 256, memory = 512 }, jobs = { cpu = 256, memory = 512 } },
    var.task_sizes,
  )
  desired_counts = merge({ for part in local.registry : part.name => part.aws.desired_count }, { gateway = 2 }, var.desired_counts)
}
