"""Real social networks behind the Channel port: one adapter module per network, the shared
good-citizen layer (resilience), the channels configuration file and the account router."""

from runbook.channels.config import ChannelsConfig, ConfigError, load_channels_config
from runbook.channels.registry import ConfiguredChannels, build_adapter, channel_for

__all__ = [
    "ChannelsConfig",
    "ConfigError",
    "ConfiguredChannels",
    "build_adapter",
    "channel_for",
    "load_channels_config",
]
