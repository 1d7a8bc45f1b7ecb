"""The MQTT side: the service, polling, commands, job tracking, topics and discovery."""
