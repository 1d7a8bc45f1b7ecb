"""The Lianke cloud side: the async API client, typed models and codes. No MQTT here."""
