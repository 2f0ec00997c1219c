"""Prompt handling: in-model tokenisation and StairReward's prompt splitting."""
