"""Web Push (issue 13): tell a phone whose app is closed that Codex needs it.

| module | job |
| --- | --- |
| `keys.py` | the companion's VAPID key pair in the state dir (0600, atomic) |
| `subscriptions.py` | browsers' push subscriptions per device (`push-subscriptions.json`) |
| `messages.py` | which bus events become a notification, and its payload |
| `delivery.py` | per-device queue, rate limit, retries; pywebpush off the event loop |
| `service.py` | `PushService`: bus subscriber, visibility rule, revocation |

Domain code: no HTTP routing here (``api/push.py`` is the transport).
"""

from codexremote.push.keys import VapidKeys
from codexremote.push.service import PushService
from codexremote.push.subscriptions import Subscription, SubscriptionStore

__all__ = ["PushService", "Subscription", "SubscriptionStore", "VapidKeys"]
