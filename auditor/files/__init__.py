"""Area "files": unmasked waybill and order exports lying on disk."""
