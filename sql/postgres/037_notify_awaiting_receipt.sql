-- The SMS receipt poll (issue 21, jobs/notifyjob Receipts): SMS the
-- gateway took whose receipt (status callback) has not come are asked
-- about, oldest first. Partial: a row leaves it when its receipt lands, so
-- it holds the messages in flight, not history (emails get no receipt and
-- are not in it).
CREATE INDEX notifications_awaiting_receipt ON notifications (sent_at, id)
    WHERE status = 'sent' AND channel = 'sms';
