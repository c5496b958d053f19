"""Catalogue knowledge: parsing, storage and matching. Pure code: never imports telegram."""
