package ingest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
)

// recordBytes is the size of msg in a produce request as the broker measures it against
// max.message.bytes: the record and the header of the batch holding it alone.
func recordBytes(msg *sarama.ProducerMessage) int {
	const batchHeader = 61
	return batchHeader + msg.ByteSize(2)
}

// recordText describes a record's key, value and headers, headers sorted.
func recordText(msg *sarama.ProducerMessage) string {
	m := kafkatest.Consumed(msg)
	headers := make([]string, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = fmt.Sprintf("%s=%q", h.Key, h.Value)
	}
	slices.Sort(headers)
	return fmt.Sprintf("key=%q value=%q %s", m.Key, m.Value, strings.Join(headers, " "))
}
