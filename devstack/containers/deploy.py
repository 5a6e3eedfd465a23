"""Deploy one service of the compose stack on its own, with no failed request:

    python -m devstack.containers.deploy booking-service      (make deploy SERVICE=...)

after its image was rebuilt (`make images`, or `docker compose build booking-service`).

How: replicas of the new image start beside the old ones (compose `--scale` with
`--no-recreate`). Once Docker reports each healthy and the gateway's resolver has seen it
(it asks Docker's DNS every 2 s: gateway_config.render._targets), each old replica is stopped:
gunicorn gets SIGTERM, stops accepting, finishes the requests it holds and exits. A request
that meets a replica as it closes (connection refused) is sent by nginx to another
(proxy_next_upstream), so the client never sees it. Then the old containers are removed.
The same calls scale a service out or in (`scale`)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import docker
from docker.models.containers import Container

REPO = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME", "travel-platform")
# How long nginx may keep a name's old answer (the `valid=` of its resolver), plus a margin.
RESOLVER_SECONDS = 3.0


class DeployError(RuntimeError):
    """A deploy could not finish (the message says why and what is left running)."""


def compose_command() -> list[str]:
    """The compose the stack runs with (devstack/containers/engine.sh)."""
    found = subprocess.run([str(REPO / "devstack/containers/engine.sh")], check=True,
                           capture_output=True, text=True).stdout.split()
    return found


def build(service: str) -> None:
    """Build a service's image from this checkout, as `make images` builds them all (the
    classic builder: what every engine has)."""
    subprocess.run([*compose_command(), "build", service], cwd=REPO, check=True,
                   capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "0",
                                             "COMPOSE_PROJECT_NAME": PROJECT})


def replicas(client: docker.DockerClient, service: str) -> list[Container]:
    """The running containers of a service, oldest first."""
    found = client.containers.list(filters={"label": [f"com.docker.compose.project={PROJECT}",
                                                      f"com.docker.compose.service={service}"]})
    return sorted(found, key=lambda c: c.attrs["Created"])


def _wait_healthy(containers: list[Container], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for container in containers:
        while True:
            container.reload()
            health = container.attrs["State"].get("Health", {}).get("Status")
            if health == "healthy":
                break
            if container.status != "running" or time.monotonic() > deadline:
                raise DeployError(f"{container.name} is {container.status}/{health}; see "
                                  f"`docker logs {container.name}`")
            time.sleep(0.5)


def scale(client: docker.DockerClient, service: str, count: int, *,
          timeout: float = 120) -> list[Container]:
    """Run `count` replicas of a service (those running stay as they are); once the new ones
    are healthy and the gateway can see them, return every replica."""
    before = {c.id for c in replicas(client, service)}
    subprocess.run([*compose_command(), "up", "-d", "--no-deps", "--no-recreate", "--scale",
                    f"{service}={count}", service], cwd=REPO, check=True,
                   env={**os.environ, "COMPOSE_PROJECT_NAME": PROJECT, "PWD": str(REPO)},
                   stdout=subprocess.DEVNULL)
    now = replicas(client, service)
    _wait_healthy([c for c in now if c.id not in before], timeout)
    time.sleep(RESOLVER_SECONDS)
    return now


def replace(client: docker.DockerClient, service: str, *, timeout: float = 120) -> list[str]:
    """Replace every replica of a service by one of its current image; the new ids."""
    old = replicas(client, service)
    if not old:
        raise DeployError(f"{service} is not running: `make compose-up` first")
    everyone = scale(client, service, 2 * len(old), timeout=timeout)
    for container in old:
        container.stop(timeout=15)   # SIGTERM; gunicorn drains within its graceful_timeout
        container.remove()
    return [c.id for c in everyone if c.id not in {o.id for o in old}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service")
    parser.add_argument("--scale", type=int, help="run this many replicas instead")
    args = parser.parse_args()
    client = docker.from_env()
    try:
        if args.scale:
            done = scale(client, args.service, args.scale)
            print(f"{args.service}: {len(done)} replicas")
        else:
            new = replace(client, args.service)
            print(f"{args.service}: replaced by {', '.join(i[:12] for i in new)}")
    except (DeployError, docker.errors.DockerException, subprocess.CalledProcessError) as error:
        sys.exit(f"deploy {args.service}: {error}")


if __name__ == "__main__":
    main()
