"""One module per monitoring vendor: each turns that vendor's webhook payload into AlertIn
values (tickets.intake.alerts), which one service handles whatever their origin."""
