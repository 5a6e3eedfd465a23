# One image repository per part, in this deployment: images are pushed here after the first
# `terraform apply -target=aws_ecr_repository.part` (README), tagged with the commit they
# were built from; a tag never moves.

resource "aws_ecr_repository" "part" {
  for_each             = toset(local.images)
  name                 = "${local.name}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = !local.is_prod

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.platform.arn
  }
}

resource "aws_ecr_lifecycle_policy" "part" {
  for_each   = aws_ecr_repository.part
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the newest 50 images (rollbacks), expire older ones"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = 50
      }
      action = { type = "expire" }
    }]
  })
}
