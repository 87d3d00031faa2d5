"""Ports: the Protocols the steps talk to (chat, channel, post queue) and their in-process defaults."""
