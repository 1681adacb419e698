"""The emails Flowcast sends, with sample contexts for previews (admin, `manage.py email preview`).

Each name is a folder under `templates/emails/` holding subject.txt, body.html and body.txt.
"""

SAMPLE_CONTEXTS: dict[str, dict] = {
    "welcome": {
        "name": "Ada",
        "email": "ada@example.com",
        "verify_url": "http://127.0.0.1:8000/api/auth/verify-email?token=sample-token",
        "verify_expires_hours": 72,
    },
    "video_ready": {
        "name": "Ada",
        "video_title": "Sunrise over the harbour",
        "video_url": "http://127.0.0.1:8000/watch/1",
        "duration": "3:07",
    },
    "video_failed": {
        "name": "Ada",
        "video_title": "Sunrise over the harbour",
        "video_url": "http://127.0.0.1:8000/watch/1",
        "error": "The file has no video stream.",
    },
    "payment_confirmed": {
        "name": "Ada",
        "role": "recipient",
        "chain_id": 31337,
        "amount": "5 FLOW",
        "amount_base_units": "5000000000000000000",
        "token_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "from_address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "to_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "tx_hash": "0x" + "ab" * 32,
    },
    "stream_started": {
        "name": "Ada",
        "role": "recipient",
        "chain_id": 31337,
        "stream_id": 7,
        "contract_address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "tx_hash": "0x" + "cd" * 32,
        "sender": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "recipient": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "token_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "deposit": "3.6 FLOW",
        "rate_per_second": "0.001 FLOW",
        "start_time": "2026-11-27 10:00 UTC",
        "stop_time": "2026-11-27 11:00 UTC",
    },
    "stream_cancelled": {
        "name": "Ada",
        "role": "sender",
        "chain_id": 31337,
        "stream_id": 7,
        "contract_address": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        "tx_hash": "0x" + "cd" * 32,
        "sender": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "recipient": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "token_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        "deposit": "3.6 FLOW",
        "rate_per_second": "0.001 FLOW",
        "start_time": "2026-11-27 10:00 UTC",
        "stop_time": "2026-11-27 11:00 UTC",
        "cancelled_at": "2026-11-27 10:20 UTC",
        "cancel_tx_hash": "0x" + "ef" * 32,
    },
    # `what` is "payment", "stream" or "stream_cancel"; the other keys are those of the email it corrects.
    "chain_event_reversed": {
        "name": "Ada",
        "role": "recipient",
        "what": "payment",
        "chain_id": 31337,
        "amount": "3 FLOW",
        "tx_hash": "0x" + "ab" * 32,
        "from_address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "to_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    },
    "verify_email": {
        "name": "Ada",
        "email": "ada@example.com",
        "verify_url": "http://127.0.0.1:8000/api/auth/verify-email?token=sample-token",
        "verify_expires_hours": 72,
    },
    "test": {"queued_at": "2026-11-27 10:00 UTC"},
}

TEMPLATE_NAMES = sorted(SAMPLE_CONTEXTS)
