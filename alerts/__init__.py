"""Alert rules and episode lifecycle (pure Python). Delivery and storage live at the edge in
``streams/``; nothing here imports Faust, Kafka or Redis or reads the clock."""
