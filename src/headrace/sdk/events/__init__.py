"""Events in the SDK: ``Webhook`` subscriptions and event ``Trigger``s (headrace's own names; Azure ML v1 had neither)."""

from headrace.sdk.events.trigger import Trigger
from headrace.sdk.events.webhook import Webhook

__all__ = ["Trigger", "Webhook"]
