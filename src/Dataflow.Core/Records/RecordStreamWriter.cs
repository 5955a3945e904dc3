namespace Dataflow.Core;

/// <summary>
/// Writes records to a stream, buffered: <see cref="FlushAsync"/> writes what is buffered, and must be called after
/// the last record. Made by <see cref="RecordStreams.CreateWriter{T}(Stream, RecordFileFormat, RecordCodec{T}?, TextRecordFormat{T}?)"/>.
/// </summary>
/// <typeparam name="T">The record type.</typeparam>
public abstract class RecordStreamWriter<T>
{
    /// <summary>Writes one record (to the buffer; to the stream when the buffer is full).</summary>
    public abstract ValueTask WriteAsync(T record, CancellationToken cancellationToken = default);

    /// <summary>Writes what is buffered to the stream (which it does not flush or close).</summary>
    public abstract ValueTask FlushAsync(CancellationToken cancellationToken = default);
}
