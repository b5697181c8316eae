from django.apps import AppConfig


class DeploymentConfig(AppConfig):
    """The project package as an app: it has no models, only the deployment's system checks
    (config/checks.py), which must be registered when the apps are ready."""

    name = "config"
    verbose_name = "Deployment"

    def ready(self):
        from config import checks  # noqa: F401 (registers the checks)
