"""AWS credentials on the driver: named profiles resolved with botocore, and the checks cloud kinds
run before they start anything.

A named profile (``aws_profile: osn`` in a cluster profile or in a store's storage options) is
resolved **on the driver** from the usual files (``~/.aws/credentials``, ``~/.aws/config``,
``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_CONFIG_FILE``), including ``endpoint_url`` and
``region`` of the profile's section. Only the resolved key, secret, session token, endpoint and
region go to the workers (through the backend's secret channel), never a path to a local file;
workers need no credentials file of their own.
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass

from ..errors import ClusterUnavailable, InputError

#: ``AWS_*`` variables that hold paths to files on the driver: never forwarded by a glob.
LOCAL_PATH_VARS = frozenset({"AWS_CA_BUNDLE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
                             "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_DATA_PATH", "AWS_PROFILE",
                             "AWS_DEFAULT_PROFILE"})


@dataclass(frozen=True)
class AwsCredentials:
    """Resolved credentials of one named profile. ``repr`` shows no values."""

    profile: str
    key: str
    secret: str
    token: str | None = None
    endpoint_url: str | None = None
    region: str | None = None

    def __repr__(self) -> str:
        return (f"AwsCredentials(profile={self.profile!r}, endpoint_url={self.endpoint_url!r}, "
                f"region={self.region!r}, token={'yes' if self.token else 'no'})")

    def env(self) -> dict[str, str]:
        """Worker environment variables botocore and s3fs read (``AWS_ENDPOINT_URL`` included)."""
        out = {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret}
        if self.token:
            out["AWS_SESSION_TOKEN"] = self.token
        if self.endpoint_url:
            out["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.region:
            out["AWS_DEFAULT_REGION"] = self.region
        return out

    def storage_options(self) -> dict:
        """s3fs storage options: ``key``, ``secret``, ``token``, ``client_kwargs``."""
        out: dict = {"key": self.key, "secret": self.secret}
        if self.token:
            out["token"] = self.token
        ck = {}
        if self.endpoint_url:
            ck["endpoint_url"] = self.endpoint_url
        if self.region:
            ck["region_name"] = self.region
        if ck:
            out["client_kwargs"] = ck
        return out


def _credentials_file_value(session, profile: str, key: str) -> str | None:
    """A value from the profile's section of the shared credentials file (HyTEST puts
    ``endpoint_url`` there); botocore's scoped config only reads the config file."""
    path = os.path.expanduser(session.get_config_variable("credentials_file") or "~/.aws/credentials")
    parser = configparser.RawConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return None
    if parser.has_section(profile) and parser.has_option(profile, key):
        return parser.get(profile, key).strip() or None
    return None


def resolve_profile(name: str, where: str, error=InputError) -> AwsCredentials:
    """Resolve the named AWS profile with botocore.

    Parameters
    ----------
    name : str
        Profile name as in ``~/.aws/credentials`` / ``~/.aws/config``.
    where : str
        Where the name was given (``file: clusters.NAME.aws_profile``), for the error.
    error : type
        Exception class raised when it cannot be resolved.

    Returns
    -------
    AwsCredentials

    Raises
    ------
    error
        One line naming ``where`` and the profile; never a value.

    References
    ----------
    botocore configuration: https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html
    """
    import botocore.exceptions
    import botocore.session

    try:
        session = botocore.session.Session(profile=name)
        creds = session.get_credentials()
    except botocore.exceptions.ProfileNotFound:
        raise error(f"{where}: AWS profile {name!r} not found in the credentials or config file") from None
    except botocore.exceptions.BotoCoreError as e:
        raise error(f"{where}: AWS profile {name!r} cannot be read ({type(e).__name__})") from None
    if creds is None:
        raise error(f"{where}: AWS profile {name!r} has no credentials")
    frozen = creds.get_frozen_credentials()
    if not frozen.access_key or not frozen.secret_key:
        raise error(f"{where}: AWS profile {name!r} has no access key and secret")
    scoped = session.get_scoped_config()
    endpoint = scoped.get("endpoint_url") or _credentials_file_value(session, name, "endpoint_url")
    region = scoped.get("region") or _credentials_file_value(session, name, "region")
    return AwsCredentials(profile=name, key=frozen.access_key, secret=frozen.secret_key,
                          token=frozen.token or None, endpoint_url=endpoint, region=region)


def require_credentials(profile) -> None:
    """Raise :class:`ClusterUnavailable` when a cloud profile has no AWS credentials on the driver.

    Parameters
    ----------
    profile : runfleet.config.Profile
        An ``ec2`` or ``fargate`` profile.
    """
    import botocore.exceptions
    import botocore.session

    try:
        creds = botocore.session.Session().get_credentials()
    except botocore.exceptions.BotoCoreError as e:
        raise ClusterUnavailable(f"{profile.where('kind')}: AWS credentials cannot be read for profile "
                                 f"{profile.name} ({type(e).__name__})") from None
    if creds is None:
        raise ClusterUnavailable(f"{profile.where('kind')}: no AWS credentials found for profile {profile.name} "
                                 "(set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws configure)")
