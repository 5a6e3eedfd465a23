"""What each part of the stack runs with: an environment devstack chooses in full, and for
the Python parts the variables their Settings class reads, nothing more."""
from __future__ import annotations

import importlib
import os
import pwd
from collections.abc import Mapping

from pydantic_settings import BaseSettings

from devstack.layout import Layout, code_path

AWS_REGION = "us-east-1"
_SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]


def python_env(layout: Layout) -> dict[str, str]:
    """The base environment of a Python part: this checkout's code, the venv's programs."""
    # Only what we choose: a part's environment is part of its restart fingerprint, and
    # nothing from the caller's shell (AWS profiles, say) should leak into a part. Not even
    # PATH and HOME: after `. .venv/bin/activate` (another PATH) or under sudo (another
    # HOME) a `make up` must not restart every part.
    return {"PATH": os.pathsep.join([str(layout.python.parent), *_SYSTEM_PATH]),
            "LANG": "C.UTF-8", "HOME": pwd.getpwuid(os.getuid()).pw_dir,
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": code_path()}


def aws_sdk_env(layout: Layout) -> dict[str, str]:
    """What the AWS SDK reads itself (no Settings class holds it: on AWS the credentials
    come from the instance's role). moto accepts any credentials."""
    return {"AWS_ENDPOINT_URL": layout.url("moto"), "AWS_REGION": AWS_REGION,
            "AWS_DEFAULT_REGION": AWS_REGION, "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local"}


def settings_class(path: str) -> type[BaseSettings]:
    """The Settings class at "module:Class"."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def variables(settings: type[BaseSettings]) -> list[str]:
    """The environment variables a Settings class reads (pydantic-settings: the field names,
    upper-cased, no prefix)."""
    prefix = settings.model_config.get("env_prefix", "")
    return [f"{prefix}{name}".upper() for name in settings.model_fields]


def settings_env(settings: type[BaseSettings], values: Mapping[str, str]) -> dict[str, str]:
    """Of `values` (everything the stack knows, by variable name), those `settings` reads:
    a service gets exactly what its Settings class declares, written once, there."""
    return {name: values[name] for name in variables(settings) if name in values}
