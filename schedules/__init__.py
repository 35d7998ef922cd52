"""Operations: backups, exports, sensors on landing folders, health."""
