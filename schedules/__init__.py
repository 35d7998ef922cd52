"""Operations: backups and restores, health, statistics, exports, and the sensors on landing folders."""
