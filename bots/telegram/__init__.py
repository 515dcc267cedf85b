"""The Telegram channel: one aiogram Bot per inbox, by webhook or long polling."""
