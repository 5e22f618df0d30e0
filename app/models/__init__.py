"""Qt view-models (QAbstractTableModel) over the core's snapshots."""
