"""Host the components as a Pulumi component provider (``components/PulumiPlugin.yaml``).

Pulumi runs this file from the plugin directory when a program that added the package
(``pulumi package add``) constructs one of its components, or asks for the schema.
"""

import sys
from pathlib import Path

# The plugin directory is components/ itself; its modules import each other as `components.*`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from components.kube import PACKAGE
from components.package import COMPONENTS, VERSION

if __name__ == "__main__":
    component_provider_host(list(COMPONENTS), name=PACKAGE, version=VERSION)
