-- Notifications through paced channels (WeCom and the like) wait in the
-- notifications table as an outbox: the task activity records them and
-- returns, and a dispatcher sends them at the pace the channel allows.
-- next_attempt_at holds a retry back; claimed_until keeps two dispatchers
-- from sending the same row at once.
ALTER TABLE notifications ADD COLUMN next_attempt_at TIMESTAMPTZ;
--bun:split
ALTER TABLE notifications ADD COLUMN claimed_until TIMESTAMPTZ;
--bun:split
CREATE INDEX notifications_pending ON notifications (state, channel, id);
