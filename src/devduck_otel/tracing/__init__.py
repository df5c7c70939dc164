"""Tracing: joining or building providers, collector-safe exporters, layer tags, push."""
