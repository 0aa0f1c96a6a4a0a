-- Erasure reaches the service records: ticket events stay append-only, except that an erased person's
-- free text may be overwritten with '[erased]' (restrict, not delete). Every other column of the event
-- must stay as it was, codes (status, kind, priority, assignee...) cannot be touched, and only the events
-- of a ticket whose number belongs to an erased contact qualify. Deleting stays refused.

DROP TRIGGER ticket_events_no_update;
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
WHEN NOT (
    NEW.id IS OLD.id AND NEW.ticket_id IS OLD.ticket_id AND NEW.at IS OLD.at AND NEW.actor IS OLD.actor
    AND NEW.event IS OLD.event AND NEW.field IS OLD.field AND NEW.ref IS OLD.ref
    AND (NEW.note IS OLD.note OR (OLD.note IS NOT NULL AND NEW.note = '[erased]'))
    AND (NEW.old_value IS OLD.old_value
         OR (OLD.field IN ('subject', 'body') AND OLD.old_value IS NOT NULL AND NEW.old_value = '[erased]'))
    AND (NEW.new_value IS OLD.new_value
         OR (OLD.field IN ('subject', 'body') AND OLD.new_value IS NOT NULL AND NEW.new_value = '[erased]'))
    AND EXISTS (
        SELECT 1 FROM tickets t JOIN contacts c ON c.phone = t.phone
        WHERE t.id = OLD.ticket_id AND c.erased_at IS NOT NULL
    )
)
BEGIN SELECT RAISE(ABORT, 'ticket events are append-only'); END;
