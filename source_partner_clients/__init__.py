"""Airbyte source for HubSpot's partner_clients CRM object."""

from source_partner_clients.source import SourcePartnerClients

__all__ = ["SourcePartnerClients"]
