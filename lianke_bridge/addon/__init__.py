"""The Home Assistant add-on: the bridge configured from Home Assistant's UI and Supervisor.

``lianke-bridge addon`` (the add-on image's command, see ``addons/lianke_bridge/``) reads the
options the user set in the add-on's page (:mod:`.options`), an optional ``config.yaml`` in the
add-on's folder for everything else, and the broker from the Supervisor (:mod:`.supervisor`),
then validates them as one configuration with the bridge's own schema (:mod:`.load`).
"""

from lianke_bridge.addon.load import AddonPaths, load_addon_config, one_line
from lianke_bridge.addon.options import OPTIONS, Option
from lianke_bridge.addon.supervisor import MqttService

__all__ = ["OPTIONS", "AddonPaths", "MqttService", "Option", "load_addon_config", "one_line"]
