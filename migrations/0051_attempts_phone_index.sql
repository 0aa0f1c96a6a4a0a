-- A number's attempts are sought by `phone` alone: the dial-time decision reads each one's time and
-- outcome, the audit's national-DNC matches its registry copy, from the row in both cases. The time in
-- the index only made it twice the size, and a dial run rewrites most of its pages at every batch (the
-- numbers come in no order), so each batch now writes about half as many of them.
DROP INDEX attempts_phone_time;
CREATE INDEX attempts_phone ON attempts(phone);
