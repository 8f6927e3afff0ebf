"""Transactional outbox (sending through the gateway) and idempotent inbox (consuming from Kafka)."""
