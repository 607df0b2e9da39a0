"""Projects and chats: a notification-fed cache of app-server threads, and chat actions."""
