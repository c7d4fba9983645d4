//! InfluxDB 1.x line protocol (being written).
