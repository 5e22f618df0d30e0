"""Peerwallet's Qt window (PySide6 on a qasync loop). All logic lives in core/."""
